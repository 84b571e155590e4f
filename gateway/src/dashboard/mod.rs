//! The statistics dashboard for council members and national analysts:
//! `GET /dashboard` (the page) and `GET /dashboard/assets/*` (its script,
//! style sheet and the county/municipality list), all embedded in the
//! binary. The page itself holds no data: it asks `/v1/statistics` with the
//! token the user pastes (kept in the tab's sessionStorage, sent as a Bearer
//! header, never in a URL). Plain JavaScript without a build step (ADR 0051).
//!
//! Every answer carries a strict Content-Security-Policy (`default-src
//! 'self'`, no inline script or style), `X-Content-Type-Options: nosniff`,
//! `Referrer-Policy: no-referrer` and `frame-ancestors 'none'`.

use axum::Router;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use samling_kit::reference::{RegionMap, counties, municipalities};
use std::sync::OnceLock;

/// The page's policy: its own origin only, nothing inline, no framing.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; object-src 'none'; \
base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const INDEX_HTML: &str = include_str!("index.html");
const APP_JS: &str = include_str!("app.js");
const APP_CSS: &str = include_str!("app.css");

/// Regions (their names), counties (with the region each belongs to in the
/// reference map) and municipalities, for the pickers and the county grid:
/// one source, the kit's reference data, so the page never carries its own
/// copy. (The picker's list of regions is the statistics answer's: the
/// regions this gateway serves; names are looked up here.)
pub fn geo_json() -> &'static str {
    static GEO: OnceLock<String> = OnceLock::new();
    GEO.get_or_init(|| {
        let map = RegionMap::default_map();
        let counties: Vec<_> = counties()
            .map(|c| {
                serde_json::json!({
                    "code": c.as_str(),
                    "name": c.name(),
                    "region": map.region_of_county(c).as_str(),
                })
            })
            .collect();
        let municipalities: Vec<_> = municipalities()
            .map(|m| {
                serde_json::json!({
                    "code": m.as_str(),
                    "name": m.name(),
                    "county": m.county().as_str(),
                })
            })
            .collect();
        let regions: Vec<_> = map
            .regions()
            .into_iter()
            .map(|r| serde_json::json!({ "code": r.id.as_str(), "name": r.name }))
            .collect();
        serde_json::json!({
            "regions": regions,
            "counties": counties,
            "municipalities": municipalities,
        })
        .to_string()
    })
}

fn asset(body: &'static [u8], content_type: &'static str, cache: &'static str) -> Response {
    let mut r = (StatusCode::OK, body).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        HeaderName::from_static("x-frame-options"),
        HeaderValue::from_static("DENY"),
    );
    r
}

/// The dashboard's routes (public: the page and its assets hold no data;
/// the caller's `public_router` charges them to the client's address).
pub fn router() -> Router {
    // Assets are revalidated (no-cache): a new binary's page never runs
    // with an old script.
    const CACHE: &str = "no-cache";
    Router::new()
        .route(
            "/dashboard",
            axum::routing::get(|| async {
                asset(INDEX_HTML.as_bytes(), "text/html; charset=utf-8", CACHE)
            }),
        )
        .route(
            "/dashboard/assets/app.js",
            axum::routing::get(|| async {
                asset(APP_JS.as_bytes(), "text/javascript; charset=utf-8", CACHE)
            }),
        )
        .route(
            "/dashboard/assets/app.css",
            axum::routing::get(|| async {
                asset(APP_CSS.as_bytes(), "text/css; charset=utf-8", CACHE)
            }),
        )
        .route(
            "/dashboard/assets/geo.json",
            axum::routing::get(|| async {
                asset(geo_json().as_bytes(), "application/json", CACHE)
            }),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_geo_list_has_21_counties_in_regions_and_290_municipalities() {
        let v: serde_json::Value = serde_json::from_str(geo_json()).unwrap();
        let counties = v["counties"].as_array().unwrap();
        assert_eq!(counties.len(), 21);
        let stockholm = counties.iter().find(|c| c["code"] == "01").unwrap();
        assert_eq!(stockholm["name"], "Stockholms län");
        assert_eq!(stockholm["region"], "stockholm-gotland");
        assert_eq!(v["regions"][0]["name"], "Stockholm-Gotland");
        assert_eq!(v["regions"].as_array().unwrap().len(), 6);
        assert_eq!(v["municipalities"].as_array().unwrap().len(), 290);
    }

    #[test]
    fn the_county_grid_places_every_county_once() {
        // app.js's TILES: `"01": [col, row]` for each county; every county
        // of the reference data must have a tile, and no two share a cell.
        let mut cells = std::collections::BTreeSet::new();
        for c in counties() {
            let key = format!("\"{}\": [", c.as_str());
            let at = APP_JS
                .find(&key)
                .unwrap_or_else(|| panic!("county {} has no tile in app.js", c.as_str()));
            let rest = &APP_JS[at + key.len()..];
            let cell = &rest[..rest.find(']').unwrap()];
            assert!(cells.insert(cell.replace(' ', "")), "{cell} used twice");
        }
        assert_eq!(cells.len(), 21);
    }

    #[test]
    fn the_page_loads_nothing_inline_or_from_elsewhere() {
        let lower = INDEX_HTML.to_lowercase();
        assert!(lower.contains("<html lang=\"sv\""));
        assert!(!lower.contains("<script>") && !lower.contains(" style="));
        assert!(!lower.contains("http://") && !lower.contains("https://"));
        let js = APP_JS.replace("http://www.w3.org/2000/svg", "");
        assert!(!js.contains("http://") && !js.contains("https://"));
        assert!(
            !APP_JS.contains("innerHTML"),
            "DOM built with textContent only"
        );
    }

    /// WCAG 2.x contrast ratio of two `#rrggbb` colours.
    fn contrast(a: &str, b: &str) -> f64 {
        fn lum(hex: &str) -> f64 {
            let c = |i: usize| {
                let v = f64::from(u8::from_str_radix(&hex[i..i + 2], 16).unwrap()) / 255.0;
                if v <= 0.03928 {
                    v / 12.92
                } else {
                    ((v + 0.055) / 1.055).powf(2.4)
                }
            };
            0.2126 * c(1) + 0.7152 * c(3) + 0.0722 * c(5)
        }
        let (x, y) = (lum(a), lum(b));
        (x.max(y) + 0.05) / (x.min(y) + 0.05)
    }

    #[test]
    fn every_grid_tiles_text_has_a_contrast_of_at_least_4_5() {
        // `.cN { background: #…; color: #…; }` in app.css.
        let mut checked = 0;
        for line in APP_CSS.lines() {
            let Some(rest) = line.strip_prefix(".c") else {
                continue;
            };
            let colour = |key: &str| {
                let at = rest.find(key)? + key.len();
                Some(rest[at..].trim_start()[..7].to_string())
            };
            if let (Some(bg), Some(fg)) = (colour("background:"), colour(" color:")) {
                let ratio = contrast(&bg, &fg);
                assert!(ratio >= 4.5, "{line}: {ratio:.2}");
                checked += 1;
            }
        }
        assert_eq!(checked, 7, "the six steps and the hidden tile");
        assert!(contrast("#000000", "#ffffff") > 20.9);
    }
}
