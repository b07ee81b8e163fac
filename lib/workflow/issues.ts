/** A problem found in a workflow document, addressed by JSON path so the editor can point at it. */
export type ValidationIssue = {
  /** JSON path in the document, e.g. `nodes[2].config.prompt`; empty for the document itself. */
  path: string;
  /** A sentence a person understands. */
  message: string;
  /** Stable machine code, e.g. `unknown-port`, `cycle`, `unknown-key-reference`. */
  code: string;
  severity: "error" | "warning";
  nodeId?: string;
  edgeId?: string;
};

export function formatPath(segments: ReadonlyArray<PropertyKey>): string {
  let out = "";
  for (const segment of segments) {
    if (typeof segment === "number") out += `[${segment}]`;
    else if (typeof segment === "string" && /^[A-Za-z_$][\w$]*$/.test(segment)) out += out ? `.${segment}` : segment;
    else out += `[${JSON.stringify(String(segment))}]`;
  }
  return out;
}

export function issue(
  code: string,
  path: string,
  message: string,
  extra: Partial<Pick<ValidationIssue, "nodeId" | "edgeId" | "severity">> = {},
): ValidationIssue {
  return { path, message, code, severity: extra.severity ?? "error", ...extra };
}

export function describeIssues(issues: ReadonlyArray<ValidationIssue>): string {
  return issues.map((i) => `${i.severity === "warning" ? "warning" : "error"} at ${i.path || "(document)"}: ${i.message}`).join("\n");
}
