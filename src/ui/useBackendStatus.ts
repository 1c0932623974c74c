// Subscribes to the backend's status for as long as the component is mounted.
import { useEffect, useState } from "react";
import type { BackendStatus, ChatBackend } from "../chat/backend.ts";

export function useBackendStatus(backend: ChatBackend): BackendStatus {
  const [status, setStatus] = useState(() => backend.status());
  useEffect(() => {
    const unsubscribe = backend.onStatus(setStatus);
    // Catch a change made between the first render and this subscription.
    setStatus(backend.status());
    return unsubscribe;
  }, [backend]);
  return status;
}
