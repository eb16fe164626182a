// Bytes that TCP connections on this machine have carried, read from the kernel's socket
// statistics (NETLINK_SOCK_DIAG with INET_DIAG_INFO: the tcp_info that `ss -ti` prints), for
// sockets of any process. The transport keeps no byte counters of its own, and /proc/PID/io
// mixes sockets with files; the kernel's per-socket counts are exact and cost the nodes nothing.
#pragma once

#include <cstdint>
#include <map>
#include <set>

namespace pc::bench {

struct SocketBytes {
  std::uint64_t bytes_received = 0;  // payload bytes this end received (tcpi_bytes_received)
  std::uint64_t bytes_acked = 0;     // payload bytes this end sent that the peer acknowledged
  std::uint64_t segments_in = 0;     // TCP segments this end received, acknowledgements included
};

// Every IPv4 TCP socket whose local or remote port is in `ports`, by the kernel's socket
// cookie (unique for the kernel's uptime, so a socket seen twice is the same connection end).
// Throws std::runtime_error when the kernel does not answer.
std::map<std::uint64_t, SocketBytes> tcp_socket_bytes(const std::set<std::uint16_t>& ports);

}  // namespace pc::bench
