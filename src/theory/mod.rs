//! What is predicted: the analytic theory of the networks, computed from the config (nothing is
//! tabulated), to compare with what [`crate::analysis`] measures.
//!
//! - [`mean_field`]: the N → ∞ solvers (science.md §4): the current-form `tanh` network
//!   (`Δ`, `λ_max`), the rate-form `siri` network ([`mean_field::SiriMeanField`]), and
//!   [`mean_field::critical_curve`], the edge of chaos over a plane.
//! - [`plane`]: the critical line over a sweep's plane, which the phase-diagram heat map of
//!   `hebbnet plot` draws.

pub mod mean_field;
pub mod plane;
