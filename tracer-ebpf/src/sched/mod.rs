//! CPU scheduling and interrupts: run-queue latency and length, on- and off-CPU time, hard and soft IRQ time.

pub mod cpudist;
pub mod irqs;
pub mod runq;
pub mod runqlat;
pub mod runqlen;
pub mod runqslower;
