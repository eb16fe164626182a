#include "bench/socket_bytes.hpp"

#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

namespace pc::bench {

namespace {

constexpr std::size_t receive_buffer_bytes = 64 * 1024;

// Netlink messages and their attributes start on 4-byte boundaries (NLMSG_ALIGN, RTA_ALIGN).
constexpr std::size_t netlink_align(std::size_t length) { return (length + 3) & ~std::size_t{3}; }

[[noreturn]] void fail_errno(const char* what) {
  throw std::runtime_error(std::string("socket statistics: ") + what + ": " + std::strerror(errno));
}

class NetlinkSocket {
 public:
  NetlinkSocket() : fd_(socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG)) {
    if (fd_ < 0) fail_errno("socket(NETLINK_SOCK_DIAG)");
  }
  ~NetlinkSocket() { close(fd_); }
  NetlinkSocket(const NetlinkSocket&) = delete;
  NetlinkSocket& operator=(const NetlinkSocket&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_;
};

}  // namespace

std::map<std::uint64_t, SocketBytes> tcp_socket_bytes(const std::set<std::uint16_t>& ports) {
  NetlinkSocket netlink;
  struct {
    nlmsghdr header;
    inet_diag_req_v2 request;
  } message{};
  message.header.nlmsg_len = sizeof message;
  message.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  message.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  message.request.sdiag_family = AF_INET;
  message.request.sdiag_protocol = IPPROTO_TCP;
  message.request.idiag_states = ~0u;  // every state: a closing socket still counts
  message.request.idiag_ext = 1u << (INET_DIAG_INFO - 1);
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (sendto(netlink.fd(), &message, sizeof message, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) < 0) {
    fail_errno("sendto");
  }

  std::map<std::uint64_t, SocketBytes> sockets;
  std::vector<char> buffer(receive_buffer_bytes);
  for (;;) {
    const ssize_t received = recv(netlink.fd(), buffer.data(), buffer.size(), 0);
    if (received < 0) {
      if (errno == EINTR) continue;
      fail_errno("recv");
    }
    // The netlink macros cast in C style, which the build refuses: the same walk by hand,
    // each header copied out of the buffer.
    const std::size_t end = static_cast<std::size_t>(received);
    for (std::size_t at = 0; at + sizeof(nlmsghdr) <= end;) {
      nlmsghdr header{};
      std::memcpy(&header, buffer.data() + at, sizeof header);
      if (header.nlmsg_len < sizeof header || at + header.nlmsg_len > end) break;
      const char* payload = buffer.data() + at + netlink_align(sizeof header);
      const std::size_t payload_end = at + header.nlmsg_len;
      at += netlink_align(header.nlmsg_len);
      if (header.nlmsg_type == NLMSG_DONE) return sockets;
      if (header.nlmsg_type == NLMSG_ERROR) {
        nlmsgerr error{};
        std::memcpy(&error, payload, std::min(sizeof error, payload_end - static_cast<std::size_t>(payload - buffer.data())));
        errno = -error.error;
        fail_errno("the kernel refused the dump");
      }
      if (header.nlmsg_type != SOCK_DIAG_BY_FAMILY) continue;
      inet_diag_msg diag{};
      std::memcpy(&diag, payload, sizeof diag);
      const std::uint16_t local_port = ntohs(diag.id.idiag_sport);
      const std::uint16_t remote_port = ntohs(diag.id.idiag_dport);
      if (!ports.contains(local_port) && !ports.contains(remote_port)) continue;
      // A listening socket carries nothing; its cookie would only add a zero row.
      if (remote_port == 0) continue;
      tcp_info info{};
      const char* attribute_at = payload + netlink_align(sizeof diag);
      const char* attributes_end = buffer.data() + payload_end;
      while (attribute_at + sizeof(rtattr) <= attributes_end) {
        rtattr attribute{};
        std::memcpy(&attribute, attribute_at, sizeof attribute);
        if (attribute.rta_len < sizeof attribute || attribute_at + attribute.rta_len > attributes_end) break;
        if (attribute.rta_type == INET_DIAG_INFO) {
          // An older kernel sends a shorter tcp_info: the fields it lacks stay zero.
          const std::size_t length = attribute.rta_len - netlink_align(sizeof attribute);
          std::memcpy(&info, attribute_at + netlink_align(sizeof attribute), std::min(length, sizeof info));
        }
        attribute_at += netlink_align(attribute.rta_len);
      }
      const std::uint64_t cookie =
          static_cast<std::uint64_t>(diag.id.idiag_cookie[0]) | (static_cast<std::uint64_t>(diag.id.idiag_cookie[1]) << 32);
      sockets[cookie] = SocketBytes{info.tcpi_bytes_received, info.tcpi_bytes_acked, info.tcpi_segs_in};
    }
  }
}

}  // namespace pc::bench
