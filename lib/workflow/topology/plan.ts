import { findCycle, nodesOnCycles } from "../graph";
import type { JsonSchema } from "../engine/model-port";

/**
 * What a planning model is asked for (subtasks with dependencies, as structured output) and how
 * its answer is repaired into a DAG the builder can always turn into a valid workflow: unknown or
 * self dependencies dropped, cycles broken, empty prompts filled from titles, ids made unique,
 * long plans cut. A plan with nothing usable is refused with a message.
 */

export type Subtask = { id: string; title: string; prompt: string; dependsOn: string[] };

/** More subtasks than this are cut: beyond it a plan is a project, not a workflow step. */
export const MAX_SUBTASKS = 20;
const MAX_TITLE = 80;
const MAX_PROMPT = 4_000;
/** The longest task description a planner is given. */
export const MAX_TASK_CHARS = 4_000;

export const PLANNER_SCHEMA: JsonSchema = {
  type: "object",
  properties: {
    subtasks: {
      type: "array",
      description: `1 to ${MAX_SUBTASKS} subtasks.`,
      items: {
        type: "object",
        properties: {
          id: { type: "string", description: "A short identifier, e.g. s1 or pricing." },
          title: { type: "string", description: "A few words naming the subtask." },
          prompt: { type: "string", description: "Self-contained instructions a language model can follow in one call." },
          dependsOn: { type: "array", items: { type: "string" }, description: "Ids of the subtasks whose results this one needs." },
        },
        required: ["id", "title", "prompt", "dependsOn"],
        additionalProperties: false,
      },
    },
  },
  required: ["subtasks"],
  additionalProperties: false,
};

export const PLANNER_SYSTEM =
  "You plan LLM workflows. You split a task into subtasks that a language model can each do in one call, and say which subtasks need which others' results.";

/** The line after which the planner's prompt holds the task (the demo model reads it there). */
export const PLANNER_TASK_MARKER = "The task to plan:";

/** The planner's instructions; the task comes last, after a fixed marker line. */
export function plannerPrompt(task: string): string {
  return [
    `Split the task below into 1 to ${MAX_SUBTASKS} subtasks.`,
    "- Give each a short id, a title and a self-contained prompt; do not repeat the whole task in every prompt.",
    "- dependsOn lists only the ids whose results the subtask really needs: every dependency makes it wait.",
    "- A conclusion, summary, comparison or recommendation depends on the subtasks it draws on.",
    "- Subtasks that are the same work over different items (one per city, per product) should say so in the same words.",
    "",
    PLANNER_TASK_MARKER,
    task.slice(0, MAX_TASK_CHARS),
  ].join("\n");
}

export type RepairResult = { ok: true; subtasks: Subtask[]; repairs: string[] } | { ok: false; message: string };

const text = (value: unknown): string => (typeof value === "string" ? value : typeof value === "number" ? String(value) : "").replace(/\s+/g, " ").trim();
const longText = (value: unknown): string => (typeof value === "string" ? value.trim() : "");

function dependencyList(value: unknown): string[] {
  if (Array.isArray(value)) return value.map(text).filter(Boolean);
  // Models sometimes answer "s1, s2" for a list.
  if (typeof value === "string") return value.split(/[,;]/).map((s) => s.trim()).filter(Boolean);
  return [];
}

/** Turns whatever a planner returned into a DAG of subtasks, saying what was changed. Never throws. */
export function repairPlan(raw: unknown, maxSubtasks = MAX_SUBTASKS): RepairResult {
  const repairs: string[] = [];
  const list = Array.isArray(raw) ? raw : raw && typeof raw === "object" ? (raw as { subtasks?: unknown }).subtasks : undefined;
  if (!Array.isArray(list)) return { ok: false, message: "The planner did not return a list of subtasks." };

  const drafted: Array<Subtask & { rawDeps: string[] }> = [];
  list.forEach((item, index) => {
    if (!item || typeof item !== "object") {
      repairs.push(`dropped item ${index + 1}: it is not a subtask`);
      return;
    }
    const record = item as Record<string, unknown>;
    let title = text(record.title).slice(0, MAX_TITLE);
    let prompt = longText(record.prompt);
    if (!prompt && title) {
      prompt = title;
      repairs.push(`"${title}" had no prompt; its title is used as the prompt`);
    }
    if (!prompt) {
      repairs.push(`dropped item ${index + 1}: it has neither a prompt nor a title`);
      return;
    }
    if (prompt.length > MAX_PROMPT) {
      prompt = prompt.slice(0, MAX_PROMPT);
      repairs.push(`shortened the prompt of "${title || index + 1}" to ${MAX_PROMPT} characters`);
    }
    if (!title) title = prompt.replace(/\s+/g, " ").slice(0, 40).trim();
    drafted.push({ id: text(record.id).slice(0, 40), title, prompt, dependsOn: [], rawDeps: dependencyList(record.dependsOn) });
  });

  if (drafted.length > maxSubtasks) {
    repairs.push(`the plan had ${drafted.length} subtasks; kept the first ${maxSubtasks}`);
    drafted.length = maxSubtasks;
  }
  if (!drafted.length) return { ok: false, message: "The planner returned no usable subtasks." };

  const ids = new Set<string>();
  drafted.forEach((subtask, index) => {
    let id = subtask.id || `s${index + 1}`;
    if (ids.has(id)) {
      let n = 2;
      while (ids.has(`${id}_${n}`)) n++;
      repairs.push(`two subtasks were called "${id}"; the second is now "${id}_${n}"`);
      id = `${id}_${n}`;
    }
    ids.add(id);
    subtask.id = id;
  });

  const byId = new Map(drafted.map((s) => [s.id, s]));
  const byLowerId = new Map(drafted.map((s) => [s.id.toLowerCase(), s]));
  const byTitle = new Map(drafted.map((s) => [s.title.toLowerCase(), s]));
  for (const subtask of drafted) {
    const deps = new Set<string>();
    for (const ref of subtask.rawDeps) {
      // Planners name dependencies by id, sometimes by title or position; anything else is dropped.
      const found = byId.get(ref) ?? byLowerId.get(ref.toLowerCase()) ?? byTitle.get(ref.toLowerCase()) ?? (/^\d+$/.test(ref) ? drafted[Number(ref) - 1] : undefined);
      if (!found) {
        repairs.push(`"${subtask.title}" depended on "${ref}", which is not in the plan; dropped`);
      } else if (found === subtask) {
        repairs.push(`"${subtask.title}" depended on itself; dropped`);
      } else {
        deps.add(found.id);
      }
    }
    subtask.dependsOn = [...deps];
  }

  breakCycles(drafted, repairs);
  return { ok: true, subtasks: drafted.map(({ id, title, prompt, dependsOn }) => ({ id, title, prompt, dependsOn })), repairs };
}

/** Drops one dependency per cycle, the one pointing furthest back in the planner's order, until none is left. */
function breakCycles(subtasks: Subtask[], repairs: string[]): void {
  const index = new Map(subtasks.map((s, i) => [s.id, i]));
  for (;;) {
    const successors = subtasks.map(() => [] as number[]);
    subtasks.forEach((s, to) => s.dependsOn.forEach((dep) => successors[index.get(dep)!].push(to)));
    const stuck = nodesOnCycles(subtasks.length, successors);
    if (!stuck.length) return;
    const cycle = findCycle(new Set(stuck), successors);
    if (!cycle) return;
    // cycle[i] → cycle[i+1] means cycle[i+1] depends on cycle[i]; drop the dependency of an earlier subtask on a later one.
    let drop = 0;
    for (let i = 0; i < cycle.length - 1; i++) {
      const gap = cycle[i] - cycle[i + 1];
      if (gap > cycle[drop] - cycle[drop + 1]) drop = i;
    }
    const dependent = subtasks[cycle[drop + 1]];
    const dependency = subtasks[cycle[drop]];
    dependent.dependsOn = dependent.dependsOn.filter((id) => id !== dependency.id);
    repairs.push(
      `the dependencies made a cycle (${cycle.map((i) => subtasks[i].title).join(" → ")}); "${dependent.title}" no longer waits for "${dependency.title}"`,
    );
  }
}
