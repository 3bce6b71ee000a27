use leptos::prelude::*;

use crate::model::{CurrentUser, Role};

/// The signed-in user's role, as the page frame provided it; a viewer's when unknown, so a
/// missing context shows fewer buttons, never more. The server checks every call anyway.
pub fn current_role() -> Role {
    use_context::<CurrentUser>().map_or(Role::Viewer, |u| u.role)
}
