//! The vocabulary of the client → server protocol: the operations the parser yields and the
//! errors it stops on. Both are small and `Copy` so the hot path never allocates for them.

use std::fmt;

use super::errors::ProtoErr;

/// One complete client operation. Every slice borrows either the caller's read buffer (the
/// common case: the operation arrived whole in one read) or the parser's own copy buffers
/// (only when a read split the operation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientOp<'a> {
    /// `CONNECT <json>`: the raw JSON, not yet decoded (see `connect::parse_connect`).
    Connect {
        json: &'a [u8],
    },
    /// `PUB <subject> [reply] <#bytes>` and its payload.
    Pub {
        subject: &'a [u8],
        reply: Option<&'a [u8]>,
        payload: &'a [u8],
    },
    /// `HPUB <subject> [reply] <#hdr> <#total>`: `headers` is the header block (`#hdr` bytes,
    /// relayed unvalidated), `payload` the remaining `#total - #hdr` bytes.
    HPub {
        subject: &'a [u8],
        reply: Option<&'a [u8]>,
        headers: &'a [u8],
        payload: &'a [u8],
    },
    /// `SUB <subject> [queue] <sid>`. Subject validity is the engine's business.
    Sub {
        subject: &'a [u8],
        queue: Option<&'a [u8]>,
        sid: &'a [u8],
    },
    /// `UNSUB <sid> [max]`. `max` is `Some(n)` only for a positive integer of at most 9 digits;
    /// 0, negative or non-numeric values mean "unsubscribe now" (`None`), as nats-server does.
    Unsub {
        sid: &'a [u8],
        max: Option<u64>,
    },
    Ping,
    Pong,
    /// `+OK` from a client: ignored by the engine.
    Ok,
    /// `-ERR ...` from a client: the engine closes the connection without a reply.
    Err,
    /// `INFO {json}` from a client (the JSON was checked): ignored by the engine.
    Info,
}

/// Why the parser stopped. After any error the connection is closed; the parser must not be
/// fed again (it does not panic if it is, but what it yields then is unspecified).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError {
    /// Unknown verb, empty line, a verb only servers send, or a payload not followed by
    /// exactly `\r\n`. Sent to the client as `-ERR 'Unknown Protocol Operation'`.
    UnknownOp,
    /// The argument part of a control line is longer than `max_control_line`.
    MaxControlLine,
    /// A PUB size (or HPUB total size) is larger than `max_payload`.
    MaxPayload,
    /// Malformed arguments: nats-server closes silently and only logs the reason.
    Violation(Violation),
}

/// The argument errors that close a connection without any `-ERR` ("Protocol Violation").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Violation {
    /// PUB with other than 2 or 3 arguments.
    PubArgs,
    /// PUB size is not 1 to 9 decimal digits.
    PubSize,
    /// HPUB with other than 3 or 4 arguments.
    HPubArgs,
    /// HPUB header size is not 1 to 9 decimal digits.
    HPubHeaderSize,
    /// HPUB total size is not 1 to 9 decimal digits.
    HPubTotalSize,
    /// HPUB header size larger than the total size.
    HPubHeaderTooLarge,
    /// SUB with other than 2 or 3 arguments.
    SubArgs,
    /// UNSUB with other than 1 or 2 arguments.
    UnsubArgs,
    /// A client INFO whose argument is not a JSON object.
    InfoJson,
}

impl Violation {
    /// The reason for the server log, worded like nats-server's log lines.
    pub fn reason(self) -> &'static str {
        match self {
            Violation::PubArgs => "processPub Parse Error",
            Violation::PubSize => "processPub Bad or Missing Size",
            Violation::HPubArgs => "processHeaderPub Parse Error",
            Violation::HPubHeaderSize => "processHeaderPub Bad or Missing Header Size",
            Violation::HPubTotalSize => "processHeaderPub Bad or Missing Total Size",
            Violation::HPubHeaderTooLarge => "processHeaderPub Header Size larger then TotalSize",
            Violation::SubArgs => "processSub Parse Error",
            Violation::UnsubArgs => "processUnsub Parse Error",
            Violation::InfoJson => "processInfo invalid JSON",
        }
    }
}

impl ParseError {
    /// The `-ERR` to send before closing, or `None` for a silent close.
    pub fn proto_err(self) -> Option<ProtoErr> {
        match self {
            ParseError::UnknownOp => Some(ProtoErr::UnknownOp),
            ParseError::MaxControlLine => Some(ProtoErr::MaxControlLine),
            ParseError::MaxPayload => Some(ProtoErr::MaxPayload),
            ParseError::Violation(_) => None,
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.reason())
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::UnknownOp => f.write_str("Unknown Protocol Operation"),
            ParseError::MaxControlLine => f.write_str("maximum control line exceeded"),
            ParseError::MaxPayload => f.write_str("Maximum Payload Violation"),
            ParseError::Violation(v) => write!(f, "Protocol Violation: {v}"),
        }
    }
}

impl std::error::Error for ParseError {}

impl ClientOp<'_> {
    /// The verb, for traces and logs.
    pub fn verb(&self) -> &'static str {
        match self {
            ClientOp::Connect { .. } => "CONNECT",
            ClientOp::Pub { .. } => "PUB",
            ClientOp::HPub { .. } => "HPUB",
            ClientOp::Sub { .. } => "SUB",
            ClientOp::Unsub { .. } => "UNSUB",
            ClientOp::Ping => "PING",
            ClientOp::Pong => "PONG",
            ClientOp::Ok => "+OK",
            ClientOp::Err => "-ERR",
            ClientOp::Info => "INFO",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proto_err_mapping() {
        assert_eq!(ParseError::UnknownOp.proto_err(), Some(ProtoErr::UnknownOp));
        assert_eq!(
            ParseError::MaxPayload.proto_err(),
            Some(ProtoErr::MaxPayload)
        );
        assert_eq!(
            ParseError::MaxControlLine.proto_err(),
            Some(ProtoErr::MaxControlLine)
        );
        assert_eq!(ParseError::Violation(Violation::SubArgs).proto_err(), None);
    }

    #[test]
    fn display_for_logs() {
        assert_eq!(
            ParseError::Violation(Violation::PubSize).to_string(),
            "Protocol Violation: processPub Bad or Missing Size"
        );
        assert_eq!(
            ParseError::MaxControlLine.to_string(),
            "maximum control line exceeded"
        );
        assert_eq!(ClientOp::Ping.verb(), "PING");
    }
}
