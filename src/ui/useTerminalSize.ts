// The terminal's columns and rows, updated on resize (80×24 when the output is not a terminal).
import { createContext, useContext, useEffect, useState } from "react";
import { useStdout } from "ink";

export interface TerminalSize {
  columns: number;
  rows: number;
}

function sizeOf(stdout: NodeJS.WriteStream): TerminalSize {
  return { columns: stdout.columns || 80, rows: stdout.rows || 24 };
}

export function useTerminalSize(): TerminalSize {
  const { stdout } = useStdout();
  const [size, setSize] = useState(() => sizeOf(stdout));
  useEffect(() => {
    const onResize = () => setSize(sizeOf(stdout));
    stdout.on("resize", onResize);
    return () => {
      stdout.off("resize", onResize);
    };
  }, [stdout]);
  return size;
}

/** The size App measured, for components rendered many times (one resize listener, not one each). */
export const TerminalSizeContext = createContext<TerminalSize>({ columns: 80, rows: 24 });

export function useTerminalSizeContext(): TerminalSize {
  return useContext(TerminalSizeContext);
}
