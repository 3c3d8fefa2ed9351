//! A prototype whose self-description is 2 MiB: Kiln must refuse it without trusting its size.

use kiln_sdk::prelude::*;

struct BigInfo;

impl Prototype for BigInfo {
    fn describe() -> Info {
        let mut info = Info::new("big-info", "x".repeat(1 << 20));
        for i in 0..64 {
            info = info.param(Param::string(&format!("p{i}")).doc(&"d".repeat(16 << 10)));
        }
        info
    }

    fn generate(_ctx: &Context) -> Result<Vec<Object>, Error> {
        Ok(vec![])
    }
}

kiln_sdk::prototype!(BigInfo);
