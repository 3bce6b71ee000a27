use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::auth::Login;
use crate::components::outcome::outcome;

#[component]
pub fn LoginPage() -> impl IntoView {
    let login = ServerAction::<Login>::new();
    view! {
        <Title text="Sign in · ipvet"/>
        <main class="login">
            <h1>"ipvet"</h1>
            <p class="muted">"Released addresses are vetted before anyone gets them again."</p>
            <ActionForm action=login>
                <label>
                    "User name" <input type="text" name="name" autocomplete="username" required autofocus/>
                </label>
                <label>
                    "Password" <input type="password" name="password" autocomplete="current-password" required/>
                </label>
                <button type="submit">"Sign in"</button>
            </ActionForm>
            {outcome(login.value(), "Signed in.")}
        </main>
    }
}
