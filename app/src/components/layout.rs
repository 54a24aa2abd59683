//! The console's frame: header, left navigation, content area, footer.

use leptos::prelude::*;
use leptos_router::components::A;

use super::role_name;
use crate::api::auth::{current_user, Logout, SetLocale, SetTheme};
use crate::error::AppError;
use crate::i18n::*;
use crate::model::{Me, Role};

/// The signed-in user, shared by every widget that shows or hides
/// something by role (the server decides regardless).
#[derive(Clone, Copy)]
pub struct MeContext(pub Resource<Result<Option<Me>, AppError>>);

impl MeContext {
    /// Loads the user again on every navigation, inside the router: signing
    /// in, signing out and changing one's password each end on another page
    /// without a reload, and a role an admin changed applies at the next
    /// click.
    pub fn provide() {
        let path = leptos_router::hooks::use_location().pathname;
        provide_context(MeContext(Resource::new(
            move || path.get(),
            |_| current_user(),
        )));
    }

    /// Whether the user's role allows `role`; read inside a Suspense or Transition.
    pub fn allows(role: Role) -> bool {
        use_context::<MeContext>()
            .and_then(|me| me.0.get())
            .and_then(Result::ok)
            .flatten()
            .is_some_and(|me| me.role.allows(role))
    }
}

/// The console's theme as shown: `auto`, `light` or `dark`.
#[derive(Clone, Copy)]
struct Theme(RwSignal<String>);

/// The header's theme switch: Auto → Light → Dark, stored with the user.
#[component]
fn ThemeSwitch() -> impl IntoView {
    let Some(Theme(theme)) = use_context::<Theme>() else {
        return ().into_any();
    };
    let i18n = use_i18n();
    let save = ServerAction::<SetTheme>::new();
    let label = move || match theme.get().as_str() {
        "light" => t_string!(i18n, layout.theme_light),
        "dark" => t_string!(i18n, layout.theme_dark),
        _ => t_string!(i18n, layout.theme_auto),
    };
    view! {
        <button type="button" class="nav-toggle theme-switch" data-testid="theme-switch" data-theme=move || theme.get()
            title=move || t_string!(i18n, layout.theme_title)
            on:click=move |_| {
                let next = crate::model::next_theme(&theme.get_untracked()).to_owned();
                theme.set(next.clone());
                save.dispatch(SetTheme { theme: next });
            }>
            {label}
        </button>
    }
    .into_any()
}

/// The header's language choice: every locale the console was built with,
/// each named in its own language; stored with the user.
#[component]
fn LocaleSwitch() -> impl IntoView {
    let i18n = use_i18n();
    let save = ServerAction::<SetLocale>::new();
    view! {
        <select class="locale-switch" data-testid="locale-switch"
            aria-label=move || t_string!(i18n, layout.language)
            title=move || t_string!(i18n, layout.language)
            on:change=move |ev| {
                use std::str::FromStr;
                let value = event_target_value(&ev);
                if let Ok(locale) = Locale::from_str(&value) {
                    i18n.set_locale(locale);
                    save.dispatch(SetLocale { locale: value });
                }
            }>
            {Locale::get_all().iter().map(|locale| {
                let locale = *locale;
                view! {
                    <option value=locale.as_str() lang=locale.as_str() translate="no" selected=move || i18n.get_locale() == locale>
                        {td_string!(locale, language_name)}
                    </option>
                }
            }).collect_view()}
        </select>
    }
}

/// Who is signed in, with their role, and Sign out (a plain form, so it
/// works before hydration too).
#[component]
fn CurrentUser() -> impl IntoView {
    let me = use_context::<MeContext>().map(|m| m.0);
    let logout = ServerAction::<Logout>::new();
    let i18n = use_i18n();
    view! {
        <Transition fallback=|| ()>
            {move || me.and_then(|me| me.get()).and_then(Result::ok).flatten().map(|me| view! {
                <span class="current-user" data-testid="current-user" data-role=me.role.as_str()>
                    <span translate="no">{me.username.clone()}</span>
                    " (" {role_name(i18n, me.role)} ")"
                </span>
                <ActionForm action=logout attr:class="inline-form">
                    <button type="submit" class="button button--small" data-testid="sign-out">{t!(i18n, layout.sign_out)}</button>
                </ActionForm>
                <ThemeSwitch />
            })}
            <LocaleSwitch />
        </Transition>
    }
}

/// The navigation areas, in the order administrators expect them.
const NAV: &[(&str, &str)] = &[
    ("/", "nav-dashboard"),
    ("/backups", "nav-backups"),
    ("/restores", "nav-restores"),
    ("/sources", "nav-sources"),
    ("/repositories", "nav-repositories"),
    ("/copies", "nav-copies"),
    ("/notifications", "nav-notifications"),
    ("/audit", "nav-audit"),
    ("/users", "nav-users"),
    ("/account", "nav-account"),
];

/// A navigation area's label.
fn nav_label(i18n: crate::I18n, testid: &'static str) -> &'static str {
    match testid {
        "nav-dashboard" => t_string!(i18n, nav.dashboard),
        "nav-backups" => t_string!(i18n, nav.backups),
        "nav-restores" => t_string!(i18n, nav.restores),
        "nav-sources" => t_string!(i18n, nav.sources),
        "nav-repositories" => t_string!(i18n, nav.repositories),
        "nav-copies" => t_string!(i18n, nav.copies),
        "nav-notifications" => t_string!(i18n, nav.notifications),
        "nav-audit" => t_string!(i18n, nav.audit),
        "nav-users" => t_string!(i18n, nav.users),
        _ => t_string!(i18n, nav.account),
    }
}

/// A `data-hydrated` value: "false" in the server's HTML, "true" once the
/// part of the page it marks has hydrated (effects run only in the
/// browser). Browser tests wait for no "false" to be left before typing: a
/// part under a `Suspense` can hydrate after the page around it, and what is
/// typed into it before that never reaches its signals.
pub fn hydrated_flag() -> impl Fn() -> String + Copy + Send + Sync + 'static {
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    move || hydrated.get().to_string()
}

#[component]
pub fn ConsoleLayout(children: Children) -> impl IntoView {
    MeContext::provide();
    // The live feeds follow the signed-in user, so they come after it.
    super::JobFeed::provide();
    super::RestoreFeed::provide();
    let i18n = use_i18n();
    let nav_open = RwSignal::new(true);
    let hydrated = hydrated_flag();
    // The user's stored theme once known; until then the system's.
    let theme = RwSignal::new("auto".to_owned());
    provide_context(Theme(theme));
    // The page around the console (what a wide table scrolls over) too.
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        if let Some(root) = document().document_element() {
            let _ = root.set_attribute("data-theme", &theme.get());
        }
    });
    if let Some(MeContext(me)) = use_context::<MeContext>() {
        Effect::new(move |_| {
            if let Some(Ok(Some(me))) = me.get() {
                if !me.theme.is_empty() {
                    theme.set(me.theme);
                }
                // The user's own language beats what the browser asked for.
                use std::str::FromStr;
                if let Ok(locale) = Locale::from_str(&me.locale) {
                    if locale != i18n.get_locale_untracked() {
                        i18n.set_locale(locale);
                    }
                }
            }
        });
    }

    view! {
        <div
            class="console"
            class:console--nav-collapsed=move || !nav_open.get()
            data-theme=move || theme.get()
            data-testid="console"
            data-hydrated=hydrated
        >
            <header class="console-header">
                <button
                    class="nav-toggle"
                    data-testid="nav-toggle"
                    aria-controls="console-nav"
                    aria-expanded=move || nav_open.get().to_string()
                    title=move || t_string!(i18n, layout.nav_toggle)
                    on:click=move |_| nav_open.update(|open| *open = !*open)
                >
                    "☰"
                </button>
                <a class="brand" href="/" data-testid="brand">"Tidemark"</a>
                <span class="brand-tagline">{t!(i18n, layout.tagline)}</span>
                <CurrentUser />
            </header>
            <nav id="console-nav" class="console-nav" data-testid="console-nav">
                <ul>
                    {NAV
                        .iter()
                        .map(|(href, testid)| {
                            let testid = *testid;
                            view! {
                                <li>
                                    <A href=*href attr:data-testid=testid exact=true>
                                        {move || nav_label(i18n, testid)}
                                    </A>
                                </li>
                            }
                        })
                        .collect_view()}
                </ul>
            </nav>
            <main class="console-content">{children()}</main>
            <footer class="console-footer" data-testid="footer">
                "Tidemark " <span data-testid="version">{concat!("v", env!("CARGO_PKG_VERSION"))}</span>
            </footer>
        </div>
    }
}
