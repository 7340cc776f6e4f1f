//! The shared model contract, for every model.

use recsys::models::contract;
use recsys::prelude::*;

fn passes(model: &dyn Fit, personalised: bool) {
    if let Err(why) = contract::check(model, personalised).unwrap() {
        panic!("{} violates the contract: {why}", model.name());
    }
}

#[test]
fn baselines_pass_the_structural_contract() {
    passes(&Popularity::default(), false);
    passes(&Random::params().seed(7), false);
}

#[test]
fn every_named_model_builds_and_rejects_unknown_params() {
    for name in recsys::models::MODEL_NAMES {
        let m = model_from_name(name, &[]).unwrap();
        passes(m.as_ref(), false);
        let e = model_from_name(name, &[("no_such".into(), "1".into())]).err().unwrap().to_string();
        assert!(e.contains("no_such"), "{e}");
    }
    assert!(model_from_name("nope", &[]).is_err());
}

#[test]
fn random_is_seeded() {
    let (train, _) = contract::checkerboard(10, 10);
    let a = Random::params().seed(1).fit(&train).unwrap().recommend(0, 5, true);
    let b = Random::params().seed(1).fit(&train).unwrap().recommend(0, 5, true);
    let c = Random::params().seed(2).fit(&train).unwrap().recommend(0, 5, true);
    assert_eq!(a, b);
    assert_ne!(a, c);
}
