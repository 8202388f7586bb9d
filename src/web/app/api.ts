/**
 * The page's calls to the device's REST API (/api/*): same-origin, with the session cookie, JSON in and
 * out. The browser adds the page's Origin to every request that changes something, which the API
 * requires of cookie sessions (docs/SECURITY.md "REST API").
 */

/** An answer other than 2xx: its status and the API's reason. */
export class ApiError extends Error {
  override readonly name = "ApiError";
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function apiCall(path: string, method = "GET"): Promise<Response> {
  const response = await fetch(path, {
    method,
    credentials: "same-origin",
    cache: "no-store",
    headers: { accept: "application/json" },
  });
  if (!response.ok) {
    let reason = response.statusText;
    try {
      const body = (await response.json()) as { error?: unknown };
      if (typeof body.error === "string") reason = body.error;
    } catch {
      // not JSON: keep the status text
    }
    throw new ApiError(response.status, reason);
  }
  return response;
}

export async function apiJson<T>(path: string, method = "GET"): Promise<T> {
  return (await (await apiCall(path, method)).json()) as T;
}

/** What `GET /api/status` says (the fields the page uses). */
export interface DeviceStatus {
  name: string;
  role: "view" | "talk" | "admin";
  sources: Record<
    "video" | "audio",
    { kind: string; state: "live" | "unavailable" | "none"; reason?: string }
  >;
}
