// The tools as the Messages API declares them: Anthropic's own bash and text editor tools (which
// Claude models are trained on) plus submit_experiment as a custom tool. They run in shared/tools.ts.

import type { Tool, ToolBash20250124, ToolTextEditor20250728 } from '@anthropic-ai/sdk/resources/messages';
import { BASH_TOOL, EDITOR_TOOL, SUBMIT_DESCRIPTION, SUBMIT_DESCRIPTION_FIELD, SUBMIT_NOTES_FIELD, SUBMIT_TOOL } from '../shared/tools.js';

/** The tool list. The last tool carries a cache breakpoint, so the whole list is cached once. */
export type AgentTool = Tool | ToolBash20250124 | ToolTextEditor20250728;

export function toolDefinitions(): AgentTool[] {
  return [
    { type: 'bash_20250124', name: BASH_TOOL },
    { type: 'text_editor_20250728', name: EDITOR_TOOL },
    {
      name: SUBMIT_TOOL,
      description: SUBMIT_DESCRIPTION,
      input_schema: {
        type: 'object',
        properties: {
          description: {
            type: 'string',
            description: SUBMIT_DESCRIPTION_FIELD,
          },
          notes: {
            type: 'string',
            description: SUBMIT_NOTES_FIELD,
          },
        },
        required: ['description'],
      },
      // The tools never change: cache them for an hour, like the system prompt.
      cache_control: { type: 'ephemeral', ttl: '1h' },
    },
  ];
}
