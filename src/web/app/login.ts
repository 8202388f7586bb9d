/**
 * Pairing and password login. A pairing link is `/pair#code=<code>`: the code stays in the fragment, so
 * it never reaches a server log, a proxy or a Referer; it is posted once, and the server answers with
 * the session cookie (HttpOnly — no script ever sees it).
 */
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const form = $<HTMLFormElement>("login-form");
const password = $<HTMLInputElement>("password");
const error = $("login-error");
const pairing = $("pairing");

function showError(text: string): void {
  error.textContent = text;
  error.hidden = false;
}

async function post(path: string, body: Record<string, string>): Promise<Response> {
  return fetch(path, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
    credentials: "same-origin",
  });
}

function reasonOf(response: Response, what: string): string {
  if (response.status === 429) return "Too many attempts: wait a minute and try again.";
  return what;
}

async function pair(code: string): Promise<void> {
  pairing.hidden = false;
  form.hidden = true;
  // The code is used once: take it out of the address bar and the history.
  history.replaceState(null, "", location.pathname);
  const response = await post("/auth/pair", { code });
  if (response.ok) {
    location.replace("/");
    return;
  }
  pairing.hidden = true;
  form.hidden = false;
  showError(
    reasonOf(
      response,
      "This pairing link is not valid any more (each link works once, for a limited time). " +
        "Ask for a new one (device-rtc pair) or log in with the owner password.",
    ),
  );
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  error.hidden = true;
  void post("/auth/login", { password: password.value }).then((response) => {
    if (response.ok) location.replace("/");
    else {
      showError(reasonOf(response, "Wrong password."));
      password.select();
    }
  });
});

function pairFromAddress(): boolean {
  const code = new URLSearchParams(location.hash.slice(1)).get("code");
  if (code) void pair(code);
  return code !== null;
}

// A second link opened in this same tab changes only the fragment.
window.addEventListener("hashchange", () => pairFromAddress());
if (!pairFromAddress()) password.focus();
