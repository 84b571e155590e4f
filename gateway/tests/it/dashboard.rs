//! The statistics dashboard (`GET /dashboard`, ADR 0051): the page and its
//! assets are served from the binary, with a strict Content-Security-Policy,
//! and the page names only its own assets. (What it shows is tested in
//! headless Chromium against a real server: .ci/browser.sh.)

use crate::common::*;

fn assert_hardened(r: &Resp, path: &str) {
    let csp = r.header("content-security-policy").unwrap_or_default();
    assert!(csp.contains("default-src 'self'"), "{path}: {csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
    assert!(
        !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
        "{path}: {csp}"
    );
    assert_eq!(
        r.header("x-content-type-options"),
        Some("nosniff"),
        "{path}"
    );
    assert_eq!(r.header("referrer-policy"), Some("no-referrer"), "{path}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_page_and_its_assets_are_served_with_a_strict_policy() {
    for_each_backend(|b| async move {
        let env = Env::start(&b).await;

        // The page: Swedish, its own script and style sheet, nothing inline.
        let page = env.http().send(Req::get("/dashboard")).await;
        assert_eq!(page.status, 200);
        assert_eq!(page.content_type(), "text/html; charset=utf-8");
        assert_hardened(&page, "/dashboard");
        let html = page.text();
        assert!(html.contains("<html lang=\"sv\">"), "lang=sv");
        assert!(html.contains("src=\"/dashboard/assets/app.js\""));
        assert!(html.contains("href=\"/dashboard/assets/app.css\""));
        assert!(html.contains("<label for=\"token\">Åtkomsttoken</label>"));

        for (path, content_type, needle) in [
            (
                "/dashboard/assets/app.js",
                "text/javascript; charset=utf-8",
                "Ladda ner CSV",
            ),
            (
                "/dashboard/assets/app.css",
                "text/css; charset=utf-8",
                ":focus-visible",
            ),
            (
                "/dashboard/assets/geo.json",
                "application/json",
                "Stockholms län",
            ),
        ] {
            let r = env.http().send(Req::get(path)).await;
            assert_eq!(r.status, 200, "{path}");
            assert_eq!(r.content_type(), content_type, "{path}");
            assert_hardened(&r, path);
            assert!(r.text().contains(needle), "{path} has {needle:?}");
        }
        // The script asks the statistics route with the token in a header.
        let js = env
            .http()
            .send(Req::get("/dashboard/assets/app.js"))
            .await
            .text();
        assert!(js.contains("/v1/statistics?") && js.contains("Authorization: `Bearer"));
        assert!(js.contains("sessionStorage") && !js.contains("localStorage"));

        let geo = env
            .http()
            .send(Req::get("/dashboard/assets/geo.json"))
            .await
            .json();
        let counties = geo["counties"].as_array().expect("counties");
        assert_eq!(counties.len(), 21);
        assert!(
            counties
                .iter()
                .any(|c| c["code"] == "25" && c["region"] == NORR),
            "Norrbotten in region norr: {geo}"
        );
        assert_eq!(geo["municipalities"].as_array().map(Vec::len), Some(290));

        // Only those assets: anything else under the page is a 404 problem.
        for path in [
            "/dashboard/assets/other.js",
            "/dashboard/assets/../lib.rs",
            "/dashboard/index.html",
        ] {
            let r = env.http().send(Req::get(path)).await;
            assert_eq!(r.status, 404, "{path}");
        }
        // The page is a GET-only resource.
        let post = env.http().send(Req::post("/dashboard")).await;
        assert_eq!(post.status, 405);
    })
    .await;
}
