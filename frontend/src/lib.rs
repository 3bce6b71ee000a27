//! The browser entry point: hydrates the server-rendered page.

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
    // Clicks before hydration would be lost; end-to-end tests wait for this flag.
    let _ = js_sys::Reflect::set(&js_sys::global(), &"ipvetHydrated".into(), &true.into());
}
