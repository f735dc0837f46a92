/** What a tool execution hands back to the model: the tool_result text and whether it is an error. */
export interface ToolOutcome {
  text: string;
  isError: boolean;
}
