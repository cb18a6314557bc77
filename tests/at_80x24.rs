//! Every screen state of the catalogue at 80x24, a default SSH terminal, compared with a
//! reviewed snapshot (the other tests snapshot the same states at larger sizes).

mod common;

use common::states::catalogue;
use common::ui::draw;

#[test]
fn every_screen_state_at_80x24() {
    for (name, build) in catalogue() {
        insta::assert_snapshot!(name, draw(&build(), 80, 24));
    }
}
