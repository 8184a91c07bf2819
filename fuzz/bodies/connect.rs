//! Fuzz body for what a client's CONNECT argument goes through: the JSON reader and the decoder never
//! panic, the decoder accepts exactly the documents the reader accepts (minus wrong types), and the
//! trace redactor never panics and is idempotent (redacting twice changes nothing more).

use corenats::protocol::json_object::members;
use corenats::protocol::redact::redact_connect;
use corenats::protocol::{parse_connect, ConnectError};

/// The check for one input.
pub fn check(data: &[u8]) {
    let read = members(data);
    match parse_connect(data) {
        Ok(_) => assert!(read.is_ok(), "decoded what the reader refused"),
        Err(ConnectError::WrongType(_)) => assert!(matches!(read, Ok(Some(_)))),
        Err(_) => assert!(read.is_err(), "refused what the reader accepted"),
    }
    let once = redact_connect(data);
    assert_eq!(redact_connect(&once), once, "redaction is not idempotent");
}
