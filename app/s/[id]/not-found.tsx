import { NotShared } from "@/components/viewer/NotShared";

/** A revoked, deleted or unknown share link: a 404 that says what happened. */
export default function SharedLinkNotFound() {
  return <NotShared what="workflow" />;
}
