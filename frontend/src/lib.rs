//! The browser entry point: hydrates the server-rendered page.

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // A page loaded on demand (`app::pages::on_demand`) is hydrated once its chunk has
    // arrived, so hydration is awaited rather than done in one go.
    wasm_bindgen_futures::spawn_local(async {
        let Some(body) = leptos::prelude::document().body() else {
            return;
        };
        leptos::mount::hydrate_from_async(body, app::App)
            .await
            .forget();
        // Clicks before hydration would be lost; end-to-end tests wait for this flag.
        let _ = js_sys::Reflect::set(&js_sys::global(), &"ipvetHydrated".into(), &true.into());
    });
}
