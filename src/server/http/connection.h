// Noticing that a client went away while its request is still being worked on, so the
// generation can be cancelled instead of running to max_tokens for nobody.
#pragma once

#include <httplib.h>

namespace hearth::server {

// The socket carrying `req`: the one whose local and peer addresses match the request's.
// -1 if none is found (then disconnects are noticed only when a write fails).
int find_request_socket(const httplib::Request& req);

// True once the peer has closed or reset the connection on `fd` (never blocks).
bool peer_closed(int fd);

}  // namespace hearth::server
