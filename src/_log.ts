// A tiny leveled logger on stderr; LAMIN_LOG_LEVEL = debug | info | warn | error | silent.
import process from "node:process";
const LEVELS = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 } as const;
type Level = keyof typeof LEVELS;

function threshold(): number {
  let env: string | undefined;
  try {
    env = process.env.LAMIN_LOG_LEVEL;
  } catch {
    env = undefined;
  }
  return LEVELS[(env as Level) ?? "info"] ?? LEVELS.info;
}

function emit(level: Level, message: string): void {
  if (LEVELS[level] >= threshold()) console.error(`lamindeno ${level}: ${message}`);
}

export const log = {
  debug: (m: string) => emit("debug", m),
  info: (m: string) => emit("info", m),
  warn: (m: string) => emit("warn", m),
};
