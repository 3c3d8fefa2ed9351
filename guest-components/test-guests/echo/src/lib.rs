//! A prototype that renders exactly the objects in its `objects` param, so Kiln's tests can
//! feed any object (valid or not) through the whole pipeline to validation.

use kiln_sdk::prelude::*;

struct Echo;

impl Prototype for Echo {
    fn describe() -> Info {
        Info::new("echo", "Renders the objects it is given, for validation tests")
            .param(Param::object("objects").required().doc("A JSON array of objects to render"))
    }

    fn generate(ctx: &Context) -> Result<Vec<Object>, Error> {
        ctx.params.object::<Vec<Object>>("objects")
    }
}

kiln_sdk::prototype!(Echo);
