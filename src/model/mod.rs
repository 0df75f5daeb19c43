//! The equations, one folder per model family (docs/architecture.md).
//!
//! - [`analog`]: the analog (firing-rate) recurrent network of Siri et al. 2008, rate and current
//!   forms, Hebbian learning with passive forgetting — `"model": "analog"`, the default.
//! - [`bms`]: Cessac's discrete-time spiking network (issue 14; the equations and their exact
//!   Lyapunov spectrum so far, not yet a selectable family).
//! - [`jiang`]: deep-Hebbian sequence couplings J = ξᵀXξ/N in the current form (Jiang et al.
//!   2023), with the factored local field — `"model": "jiang"`.
//! - [`lotito`]: memories learned by softmax-gated Hebbian dynamics from clamped patterns
//!   (Lotito 2025) — `"model": "lotito"`.
//!
//! Shared by every family: [`real`] (the compute precision, `f32` or `f64`) and [`f16`] (the
//! rounding of half-precision weight storage). Everything here is a CPU reference; each GPU
//! kernel in `shaders/` has its twin in its family's folder.

pub mod analog;
pub mod bms;
pub mod f16;
pub mod jiang;
pub mod lotito;
pub mod real;
pub mod reservoir;

pub use real::Real;
