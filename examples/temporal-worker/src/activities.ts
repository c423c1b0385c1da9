// The team's own activity.
export async function greet(name: string): Promise<string> {
  return `hello, ${name}`;
}
