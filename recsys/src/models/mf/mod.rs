//! Matrix factorisation: implicit ALS (Hu, Koren & Volinsky 2008, conjugate
//! gradient as in implicit) and BPR (Rendle et al. 2009), sharing one
//! fitted factor model.

mod als;
mod bpr;
mod factors;

pub use als::Als;
pub use bpr::{Bpr, NegativeSampling};
pub use factors::FactorModel;
