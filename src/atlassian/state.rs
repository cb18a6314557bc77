//! The `state` check of a redirect, one rule for the paste box and the loopback listener:
//! a state must come back, on a code and on an `error=` answer alike, and equal this
//! attempt's. `state` is what stands between a forged redirect and this attempt (RFC 6749
//! §10.12), so the comparison takes the same time wherever the first difference is.

/// Why a returned state is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StateProblem {
    /// The redirect carried no `state` at all, so it cannot be tied to this attempt.
    Missing,
    /// A `state` came back but it is not this attempt's: stale or forged.
    Mismatch,
}

/// Accepts `returned` only when it is present and equal to `expected`.
pub fn check_state(expected: &str, returned: Option<&str>) -> Result<(), StateProblem> {
    let returned = returned.ok_or(StateProblem::Missing)?;
    if same_in_constant_time(expected.as_bytes(), returned.as_bytes()) {
        Ok(())
    } else {
        Err(StateProblem::Mismatch)
    }
}

/// Every byte position up to the longer length is visited and folded into one difference,
/// so neither the place of the first differing byte nor a length mismatch ends the loop
/// early. `black_box` keeps the optimizer from turning the fold back into an early exit.
fn same_in_constant_time(left: &[u8], right: &[u8]) -> bool {
    let mut difference = left.len() ^ right.len();
    for index in 0..left.len().max(right.len()) {
        let a = left.get(index).copied().unwrap_or(0);
        let b = right.get(index).copied().unwrap_or(0);
        difference |= usize::from(std::hint::black_box(a ^ b));
    }
    difference == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATE: &str = "s3cr3t-state";

    #[test]
    fn returned_states_are_judged() {
        let cases = [
            (Some("s3cr3t-state"), Ok(())),
            (Some("s3cr3t-statf"), Err(StateProblem::Mismatch)),
            (Some("x3cr3t-state"), Err(StateProblem::Mismatch)),
            (Some("s3cr3t-stat"), Err(StateProblem::Mismatch)),
            (Some("s3cr3t-state-and-more"), Err(StateProblem::Mismatch)),
            (Some(""), Err(StateProblem::Mismatch)),
            (None, Err(StateProblem::Missing)),
        ];
        for (returned, expected) in cases {
            assert_eq!(check_state(STATE, returned), expected, "{returned:?}");
        }
    }

    #[test]
    fn a_prefix_padded_with_nul_bytes_is_not_equal() {
        // Shorter inputs are padded with 0 while folding; the length term must still refuse.
        assert!(!same_in_constant_time(b"ab", b"ab\0"));
        assert!(!same_in_constant_time(b"", b"\0"));
        assert!(same_in_constant_time(b"", b""));
    }
}
