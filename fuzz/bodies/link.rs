//! Fuzz body for the server-to-server link protocol (leaf and route dialects): parsing any bytes
//! never panics, never consumes more than it was given, and every message or interest op parsed
//! writes back to bytes that parse to the same op.

use corenats::protocol::link::{parse, write_msg, write_sub, write_unsub, Dialect, LinkOp};

/// The check for one input, in both dialects.
pub fn check(data: &[u8]) {
    for dialect in [Dialect::Leaf, Dialect::Route] {
        let mut pos = 0;
        while pos < data.len() {
            match parse(&data[pos..], dialect, 4096, 1 << 16) {
                Ok(Some((op, used))) => {
                    assert!(
                        used > 0 && pos + used <= data.len(),
                        "consumed {used} at {pos}"
                    );
                    round_trip(&op, dialect);
                    pos += used;
                }
                Ok(None) | Err(_) => break,
            }
        }
    }
}

fn round_trip(op: &LinkOp<'_>, dialect: Dialect) {
    let mut out = Vec::new();
    match op {
        LinkOp::Sub {
            account,
            subject,
            queue,
        } => write_sub(&mut out, *account, subject, *queue),
        LinkOp::Unsub {
            account,
            subject,
            queue,
        } => write_unsub(&mut out, *account, subject, *queue),
        LinkOp::Msg {
            account,
            subject,
            reply,
            queues,
            headers,
            payload,
        } => write_msg(
            &mut out, *account, subject, *reply, queues, *headers, payload,
        ),
        _ => return,
    }
    // Fields with blanks or empty fields do not survive the text form; only whole tokens do.
    let token_ok = |t: &[u8]| !t.is_empty() && !t.iter().any(|b| b.is_ascii_whitespace());
    let tokens_ok = match op {
        LinkOp::Sub { subject, queue, .. } => {
            token_ok(subject) && queue.is_none_or(|(q, _)| token_ok(q))
        }
        LinkOp::Unsub { subject, queue, .. } => token_ok(subject) && queue.is_none_or(token_ok),
        LinkOp::Msg {
            subject,
            reply,
            queues,
            ..
        } => {
            token_ok(subject)
                && reply.is_none_or(token_ok)
                && queues.iter().all(|q| token_ok(q))
                && *reply != Some(b"+")
                && *reply != Some(b"|")
        }
        _ => false,
    };
    if !tokens_ok {
        return;
    }
    let again = parse(&out, dialect, 1 << 20, 1 << 20)
        .expect("our own frame parses")
        .expect("our own frame is complete");
    assert_eq!(again.1, out.len(), "frame consumed whole");
    assert_eq!(
        &again.0,
        op,
        "round trip of {:?}",
        String::from_utf8_lossy(&out)
    );
}
