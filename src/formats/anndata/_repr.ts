// How AnnData and MuData show themselves: anndata's and mudata's summaries
// (`AnnData object with n_obs × n_vars = 3 × 2` and one line per slot with
// its keys) as text, and as a small HTML table for notebooks.
import { escapeHtml } from "../../_display.ts";
import type { DataFrame } from "../tables.ts";
import type { AnnData } from "./anndata.ts";
import type { MuData } from "./mudata.ts";

type Slots = [string, string[]][];

function keysOf(r: Record<string, unknown> | DataFrame): string[] {
  const cols = (r as DataFrame).columns;
  return Array.isArray(cols) ? cols : Object.keys(r);
}

function annDataSlots(a: AnnData): Slots {
  const slots: Slots = [
    ["obs", keysOf(a.obs)],
    ["var", keysOf(a.var)],
    ["uns", keysOf(a.uns)],
    ["obsm", keysOf(a.obsm)],
    ["varm", keysOf(a.varm)],
    ["layers", keysOf(a.layers)],
    ["obsp", keysOf(a.obsp)],
    ["varp", keysOf(a.varp)],
  ];
  return slots.filter(([, k]) => k.length > 0);
}

const quoted = (keys: string[]) => keys.map((k) => `'${k}'`).join(", ");

/** anndata's summary: `AnnData object with n_obs × n_vars = 3 × 2` and `    obs: 'a', 'b'` lines. */
export function annDataText(a: AnnData, indent = "    "): string {
  return [
    `AnnData object with n_obs × n_vars = ${a.nObs} × ${a.nVars}`,
    ...annDataSlots(a).map(([s, k]) => `${indent}${s}: ${quoted(k)}`),
  ].join("\n");
}

/** A slot | keys HTML table under a one-line summary (keys escaped). */
export function slotsHtml(summary: string, slots: Slots): string {
  return `<div class="lamindeno-anndata"><div>${escapeHtml(summary)}</div>` +
    (slots.length
      ? `<table>${
        slots.map(([s, k]) =>
          `<tr><th style="text-align:left">${escapeHtml(s)}</th><td style="text-align:left">${
            escapeHtml(quoted(k))
          }</td></tr>`
        ).join("")
      }</table>`
      : "") +
    `</div>`;
}

/** The summary as HTML: the first line, then a slot | keys table. */
export function annDataHtml(a: AnnData): string {
  return slotsHtml(annDataText(a).split("\n")[0], annDataSlots(a));
}

/** mudata's summary: the global axes, then each modality's AnnData summary. */
export function muDataText(m: MuData): string {
  const mods = Object.entries(m.mod);
  const global: Slots = [["obs", keysOf(m.obs)], ["var", keysOf(m.var)], ["obsm", keysOf(m.obsm)]];
  return [
    `MuData object with n_obs × n_vars = ${m.shape[0]} × ${m.shape[1]}`,
    ...global.filter(([, k]) => k.length).map(([s, k]) => `  ${s}: ${quoted(k)}`),
    `  ${mods.length} modalit${mods.length === 1 ? "y" : "ies"}`,
    ...mods.map(([name, a]) =>
      `    ${name}: ` +
      annDataText(a, "      ").replace(/^AnnData object with n_obs × n_vars = /, "")
    ),
  ].join("\n");
}

/** Each modality's summary as HTML. */
export function muDataHtml(m: MuData): string {
  const mods = Object.entries(m.mod);
  return `<div class="lamindeno-mudata"><div>${
    escapeHtml(`MuData object with n_obs × n_vars = ${m.shape[0]} × ${m.shape[1]}`)
  }</div>${
    mods.map(([name, a]) =>
      `<details open><summary>${escapeHtml(name)}</summary>${annDataHtml(a)}</details>`
    ).join("")
  }</div>`;
}
