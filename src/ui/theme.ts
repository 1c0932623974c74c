// Semantic colours for the UI, with a colourless variant for NO_COLOR terminals.
import { createContext, useContext } from "react";

/** Ink colour names per meaning; undefined means "no colour" (text keeps its bold/dim styling). */
export interface Theme {
  accent: string | undefined;
  error: string | undefined;
  warning: string | undefined;
  ok: string | undefined;
  /** False for NO_COLOR: rendered Markdown is stripped of its styling too. */
  colour: boolean;
}

const colourTheme: Theme = { accent: "cyan", error: "red", warning: "yellow", ok: "green", colour: true };
const plainTheme: Theme = { accent: undefined, error: undefined, warning: undefined, ok: undefined, colour: false };

export function themeFor(noColor: boolean): Theme {
  return noColor ? plainTheme : colourTheme;
}

export const ThemeContext = createContext<Theme>(colourTheme);

export function useTheme(): Theme {
  return useContext(ThemeContext);
}
