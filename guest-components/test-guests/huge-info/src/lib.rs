//! A prototype whose self-description is 100 MiB (a `describe` takes no input, so the attack
//! cannot be a request to `hostile`): Kiln must stop copying it out of the guest long before
//! that, and refuse it naming the prototype and the limit.

use kiln_sdk::prelude::*;

struct HugeInfo;

impl Prototype for HugeInfo {
    fn describe() -> Info {
        Info::new("huge-info", "x".repeat(100 << 20))
    }

    fn generate(_ctx: &Context) -> Result<Vec<Object>, Error> {
        Ok(vec![])
    }
}

kiln_sdk::prototype!(HugeInfo);
