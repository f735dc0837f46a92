export { startFakeApi, say, useTool, turn, fault } from './server.js';
export type { AssistantTurn, Fault, Reply, Script, MessagesRequest, RecordedRequest, FakeApi, FakeApiOptions } from './server.js';
export { estimateTokens, requestParts, PromptCache, messageText, firstUserText } from './wire.js';
export type { ScriptedBlock, StopReason, WireUsage } from './wire.js';
export { startFakeOpenAi, rawArguments, RawArguments, toChatReply, chatChunks, validateChatRequest } from './openai.js';
export type { ChatRequest, ChatScript, FakeOpenAiOptions } from './openai.js';
