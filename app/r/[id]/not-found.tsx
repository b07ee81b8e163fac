import { NotShared } from "@/components/viewer/NotShared";

/** An unshared or unknown run link: a 404 that says what happened. */
export default function SharedRunNotFound() {
  return <NotShared what="run" />;
}
