// The evcxr prelude: every notebook kernel runs this at start-up (./dev
// installs the `recsys` kernel with this file as its prelude and the local
// `recsys` crate as a dependency), so a notebook needs no set-up cell.
use recsys::prelude::*;
