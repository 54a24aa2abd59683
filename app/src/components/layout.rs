//! The console's frame: header, left navigation, content area, footer.

use leptos::prelude::*;
use leptos_router::components::A;

/// The navigation areas, in the order administrators expect them.
const NAV: &[(&str, &str, &str)] = &[
    ("/", "Dashboard", "nav-dashboard"),
    ("/backups", "Backup Management", "nav-backups"),
    ("/restores", "Restoration Management", "nav-restores"),
    ("/sources", "Data Sources", "nav-sources"),
    ("/repositories", "Repositories", "nav-repositories"),
    ("/audit", "Audit Log", "nav-audit"),
];

#[component]
pub fn ConsoleLayout(children: Children) -> impl IntoView {
    let nav_open = RwSignal::new(true);
    // Effects run only in the browser: the attribute turns "true" once the
    // page has hydrated, which browser tests wait for before clicking.
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));

    view! {
        <div
            class="console"
            class:console--nav-collapsed=move || !nav_open.get()
            data-testid="console"
            data-hydrated=move || hydrated.get().to_string()
        >
            <header class="console-header">
                <button
                    class="nav-toggle"
                    data-testid="nav-toggle"
                    aria-controls="console-nav"
                    aria-expanded=move || nav_open.get().to_string()
                    title="Show or hide the navigation"
                    on:click=move |_| nav_open.update(|open| *open = !*open)
                >
                    "☰"
                </button>
                <a class="brand" href="/" data-testid="brand">"Tidemark"</a>
                <span class="brand-tagline">"Backup & Restore Console"</span>
                <span class="current-user" data-testid="current-user" title="Sign-in is not configured yet">
                    "Guest"
                </span>
            </header>
            <nav id="console-nav" class="console-nav" data-testid="console-nav">
                <ul>
                    {NAV
                        .iter()
                        .map(|(href, label, testid)| {
                            view! {
                                <li>
                                    <A href=*href attr:data-testid=*testid exact=true>
                                        {*label}
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
