// A stand-in for the gateway while developing the page alone: serves the
// page's assets from gateway/src/dashboard and answers /v1/statistics from
// fixtures/statistics.json (figures scaled by scope and year so that they
// change). Not used by CI, which runs the real gateway (.ci/browser.sh).
//   node fixture-server.mjs 8099
import http from "node:http";
import fs from "node:fs";

const port = Number(process.argv[2] || 8099);
const dir = new URL("../../gateway/src/dashboard/", import.meta.url);
const fixture = JSON.parse(fs.readFileSync(new URL("fixtures/statistics.json", import.meta.url)));
// The kit's reference data, as the gateway's geo.json has it.
const ref = (f) => fs.readFileSync(new URL(`../../services/kit/reference/${f}`, import.meta.url), "utf8").trim().split("\n").slice(1).map((l) => l.split(","));
const regionOf = Object.fromEntries(ref("regions.csv").map(([c, r]) => [c, r]));
const munis = ref("municipalities.csv");
const geo = JSON.stringify({
  counties: [...new Map(munis.map(([, , c, n]) => [c, { code: c, name: n, region: regionOf[c] }])).values()].sort((a, b) => a.code.localeCompare(b.code)),
  municipalities: munis.map(([code, name, county]) => ({ code, name, county })),
});
// The gateway's policy (gateway/src/dashboard/mod.rs), read from its source.
const CSP = fs
  .readFileSync(new URL("mod.rs", dir), "utf8")
  .match(/pub const CSP: &str = "([^"]*)"/s)[1]
  .replace(/\\\n/g, "");

function report(q) {
  const r = structuredClone(fixture);
  r.scope = q.get("scope") || "national";
  r.from = q.get("from");
  r.to = q.get("to");
  const k = (r.scope === "national" ? 3 : 1) + (Number((r.from || "2026").slice(0, 4)) % 2) + (q.get("county") ? 1 : 0);
  for (const t of r.tables)
    for (const row of t.rows)
      for (const c of row.cells) if (c.value !== null && c.value >= 5) { c.value *= k; c.display = String(c.value); }
  const only = (q.get("tables") || "").split(",").filter(Boolean);
  if (only.length) r.tables = r.tables.filter((t) => only.includes(t.id));
  return r;
}

http
  .createServer((req, res) => {
    const url = new URL(req.url, "http://x");
    const send = (status, type, body) => {
      res.writeHead(status, { "content-type": type, "content-security-policy": CSP });
      res.end(body);
    };
    if (url.pathname === "/dashboard") return send(200, "text/html; charset=utf-8", fs.readFileSync(new URL("index.html", dir)));
    if (url.pathname === "/dashboard/assets/app.js") return send(200, "text/javascript", fs.readFileSync(new URL("app.js", dir)));
    if (url.pathname === "/dashboard/assets/app.css") return send(200, "text/css", fs.readFileSync(new URL("app.css", dir)));
    if (url.pathname === "/dashboard/assets/geo.json") return send(200, "application/json", geo);
    if (!/^Bearer .+/.test(req.headers.authorization || "")) return send(401, "application/problem+json", '{"title":"Unauthenticated"}');
    // As the gateway: the aggregate roles get national and regional figures only.
    const role = (() => { try { return JSON.parse(Buffer.from(req.headers.authorization.split(".")[1], "base64url")).role; } catch { return ""; } })();
    if (url.pathname.startsWith("/v1/statistics") && url.searchParams.get("county") && /council_member|national_analyst/.test(role))
      return send(403, "application/problem+json", '{"title":"Forbidden","detail":"county: the aggregate roles get regional and national figures only"}');
    if (url.pathname === "/v1/statistics") return send(200, "application/json", JSON.stringify(report(url.searchParams)));
    const m = url.pathname.match(/^\/v1\/statistics\/(.+)\.csv$/);
    if (m) {
      const t = report(url.searchParams).tables.find((x) => x.id === m[1]);
      if (!t) return send(404, "application/problem+json", "{}");
      const lines = [["", ...t.columns.map((c) => c.label)], ...t.rows.map((r) => [r.label, ...r.cells.map((c) => c.display)])];
      return send(200, "text/csv; charset=utf-8", lines.map((l) => l.join(";")).join("\r\n") + "\r\n");
    }
    send(404, "application/problem+json", "{}");
  })
  .listen(port, "127.0.0.1", () => console.log(`fixture server on http://127.0.0.1:${port}`));
