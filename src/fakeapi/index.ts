export { startFakeApi, say, useTool, turn, fault } from './server.js';
export type { AssistantTurn, Fault, Reply, Script, MessagesRequest, RecordedRequest, FakeApi, FakeApiOptions } from './server.js';
export { estimateTokens, requestParts, PromptCache, messageText, firstUserText } from './wire.js';
export type { ScriptedBlock, StopReason, WireUsage } from './wire.js';
