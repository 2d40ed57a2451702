//! The local platform's library: the stack manifest and Lambda execution environments (AWS's
//! Runtime Interface Emulator running each function's bootstrap). The runner
//! (`finflow-local`) and `finflow invoke` both use it.

pub mod authorizer;
pub mod lambda;
pub mod manifest;
pub mod ports;
pub mod scheduled;
pub mod warm_up;
