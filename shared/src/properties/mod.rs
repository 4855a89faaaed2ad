//! Property tests of the pure parts: what must hold for every input, not
//! only for the examples the unit tests pick. `PROPTEST_CASES` raises the
//! number of cases for a longer manual run (CI uses proptest's 256).

mod bulk;
mod credentials;
mod payloads;
mod tokens;
