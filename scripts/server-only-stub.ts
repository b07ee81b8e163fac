// Empty stand-in for the 'server-only' guard outside the react-server condition (CLI, unit tests).
export {};
