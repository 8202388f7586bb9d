/**
 * The recordings panel (admins: docs/SECURITY.md "REST API"): the device's recordings from
 * `GET /api/recordings`, each playable in the page, downloadable, and deletable after a confirming
 * second click. Names are shown as text and sent back only as URL path segments (encoded).
 */
import { ApiError, apiCall, apiJson } from "./api.ts";

interface Recording {
  name: string;
  bytes: number;
  created: string;
  contentType: string;
  active: boolean;
}

/** How long a Delete button waits for its confirming click. */
const CONFIRM_MS = 4000;
/** How often the list is refreshed while the panel is shown. */
const REFRESH_MS = 15_000;

export interface RecordingsElements {
  panel: HTMLElement;
  list: HTMLUListElement;
  message: HTMLElement;
  refresh: HTMLButtonElement;
  playerFigure: HTMLElement;
  player: HTMLVideoElement;
  playerCaption: HTMLElement;
}

export class RecordingsPanel {
  readonly #ui: RecordingsElements;
  #timer: number | undefined;
  #playing: string | undefined;
  /** The names listed last (for tests and the console). */
  names: string[] = [];

  constructor(elements: RecordingsElements) {
    this.#ui = elements;
    elements.refresh.addEventListener("click", () => void this.refresh());
  }

  /** Shows the panel and keeps it fresh. */
  show(): void {
    this.#ui.panel.hidden = false;
    void this.refresh();
    window.clearInterval(this.#timer);
    this.#timer = window.setInterval(() => void this.refresh(), REFRESH_MS);
  }

  hide(): void {
    this.#ui.panel.hidden = true;
    window.clearInterval(this.#timer);
  }

  async refresh(): Promise<void> {
    let recordings: Recording[];
    try {
      recordings = (await apiJson<{ recordings: Recording[] }>("/api/recordings")).recordings;
    } catch (error) {
      this.#say(
        error instanceof ApiError && error.status === 403
          ? "Not allowed: recordings are for the device's admins."
          : `Cannot list the recordings: ${(error as Error).message}`,
        true,
      );
      return;
    }
    this.names = recordings.map((recording) => recording.name);
    this.#say(recordings.length === 0 ? "No recordings yet." : undefined);
    this.#ui.list.replaceChildren(...recordings.map((recording) => this.#item(recording)));
    if (this.#playing && !this.names.includes(this.#playing)) this.#stopPlayer();
  }

  /** Plays a recording in the page's player. */
  play(name: string): void {
    this.#playing = name;
    this.#ui.player.src = urlOf(name);
    this.#ui.playerCaption.textContent = name;
    this.#ui.playerFigure.hidden = false;
    void this.#ui.player.play().catch(() => {});
  }

  #item(recording: Recording): HTMLLIElement {
    const item = document.createElement("li");
    item.dataset.name = recording.name;
    const name = document.createElement("span");
    name.className = "recording-name";
    name.textContent = recording.name;
    const meta = document.createElement("span");
    meta.className = "recording-meta";
    meta.textContent = recording.active
      ? "recording now…"
      : `${new Date(recording.created).toLocaleString()} · ${sizeOf(recording.bytes)}`;
    const actions = document.createElement("span");
    actions.className = "recording-actions";
    if (!recording.active) {
      const play = button("Play", () => this.play(recording.name));
      play.setAttribute("aria-label", `Play ${recording.name}`);
      const link = document.createElement("a");
      link.href = urlOf(recording.name);
      link.download = recording.name;
      link.textContent = "Download";
      link.setAttribute("aria-label", `Download ${recording.name}`);
      const remove = button("Delete", () => void this.#delete(recording.name, remove));
      remove.classList.add("danger");
      remove.setAttribute("aria-label", `Delete ${recording.name}`);
      actions.append(play, link, remove);
    }
    item.append(name, actions, meta);
    return item;
  }

  /** The first click asks for a second one within {@link CONFIRM_MS}; the second deletes. */
  async #delete(name: string, control: HTMLButtonElement): Promise<void> {
    if (control.dataset.confirm !== "yes") {
      control.dataset.confirm = "yes";
      control.textContent = "Really delete?";
      window.setTimeout(() => {
        control.dataset.confirm = "";
        control.textContent = "Delete";
      }, CONFIRM_MS);
      return;
    }
    control.disabled = true;
    try {
      await apiCall(urlOf(name), "DELETE");
      if (this.#playing === name) this.#stopPlayer();
      this.#say(`Deleted ${name}.`);
    } catch (error) {
      this.#say(
        error instanceof ApiError && error.status === 403
          ? "Not allowed: only the device's admins may delete recordings."
          : `Cannot delete ${name}: ${(error as Error).message}`,
        true,
      );
    }
    await this.refresh();
  }

  #stopPlayer(): void {
    this.#playing = undefined;
    this.#ui.player.removeAttribute("src");
    this.#ui.player.load();
    this.#ui.playerFigure.hidden = true;
  }

  #say(text: string | undefined, bad = false): void {
    this.#ui.message.hidden = text === undefined;
    this.#ui.message.textContent = text ?? "";
    this.#ui.message.classList.toggle("bad", bad);
  }
}

function urlOf(name: string): string {
  return `/api/recordings/${encodeURIComponent(name)}`;
}

function button(text: string, onClick: () => void): HTMLButtonElement {
  const element = document.createElement("button");
  element.type = "button";
  element.className = "small";
  element.textContent = text;
  element.addEventListener("click", onClick);
  return element;
}

function sizeOf(bytes: number): string {
  if (bytes < 1024 * 1024) return `${Math.max(1, Math.round(bytes / 1024))} kB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}
