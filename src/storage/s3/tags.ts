/** Object tags in the two shapes S3 wants them: the x-amz-tagging header and a TagSet. */
import type { Tag } from '@aws-sdk/client-s3';

export type Tags = Readonly<Record<string, string>>;

/** URL-encoded query form, as the x-amz-tagging header carries it. */
export function taggingHeader(tags: Tags): string {
  return new URLSearchParams(Object.entries(tags)).toString().replace(/\+/g, '%20');
}

export function tagSetOf(tags: Tags): Tag[] {
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}

export function tagsOf(set: readonly Tag[] | undefined): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const t of set ?? []) if (t.Key !== undefined) tags[t.Key] = t.Value ?? '';
  return tags;
}

export function sameTags(a: Tags, b: Tags): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => b[k] === a[k]);
}
