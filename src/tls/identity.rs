//! What a peer certificate says, for `verify_and_map`, `pinned_certs` and `/connz`. Pure.
