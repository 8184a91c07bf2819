//! One server-side TLS session over a connection's socket.
