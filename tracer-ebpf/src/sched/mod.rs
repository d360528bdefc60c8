//! CPU scheduling: run-queue latency and length, on- and off-CPU time.

pub mod cpudist;
pub mod runq;
pub mod runqlat;
pub mod runqlen;
pub mod runqslower;
