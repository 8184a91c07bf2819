//! The NATS client wire protocol, as pure code: no I/O, no knowledge of shards or engines,
//! so every rule can be tested byte by byte, fuzzed and benchmarked alone.
//!
//! * [`parser`]: resumable state machine turning read buffers into [`ClientOp`]s;
//! * [`ops`]: the operations and parse errors it yields;
//! * [`connect`]: decoding and checking the `CONNECT` JSON ([`json_object`]: the lenient reader);
//! * [`info`]: the server's `INFO` line;
//! * [`link`]: the server-to-server protocols (a leaf node with its hub, routes in a cluster);
//! * [`writer`]: `MSG`/`HMSG`/`PING`/`PONG`/`+OK`/`-ERR`/`INFO` frames appended to a buffer;
//! * [`errors`]: the table of client-visible `-ERR` texts and Go-style subject quoting;
//! * [`redact`]: secrets out of a traced `CONNECT`.

pub mod connect;
pub mod errors;
pub mod info;
pub mod json_object;
pub mod link;
pub mod ops;
pub mod parser;
pub mod redact;
pub mod writer;

pub use connect::{parse_connect, parse_connect_over, ConnectError, ConnectOptions};
pub use errors::{go_quote, ProtoErr};
pub use info::ServerInfo;
pub use ops::{ClientOp, ParseError, Violation};
pub use parser::{Parser, State};
