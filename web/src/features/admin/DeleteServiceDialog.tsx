import { useMutation, useQueryClient } from "@tanstack/react-query";
import { type ServiceResponse, admin, adminKeys } from "./api";
import { Dialog, button } from "../../ui/Dialog";
import { useToast } from "../../ui/toast";

/** Confirms a delete, listing the relations that go with the service. */
export function DeleteServiceDialog({ service, onClose }: { service: ServiceResponse | null; onClose: () => void }) {
  const toast = useToast();
  const client = useQueryClient();
  const relations = service ? [...service.relations.incoming.map((r) => ({ ...r, dir: "from" })), ...service.relations.outgoing.map((r) => ({ ...r, dir: "to" }))] : [];
  const remove = useMutation({
    mutationFn: () => admin.remove(service!.service_id, relations.length > 0),
    onSuccess: () => {
      toast("success", `Deleted ${service!.service_id}`);
      void client.invalidateQueries({ queryKey: adminKeys.all });
      onClose();
    },
    onError: (e) => toast("error", e.message),
  });
  return (
    <Dialog title={service ? `Delete ${service.service_id}?` : "Delete"} open={!!service} onClose={onClose}>
      {service && (
        <div className="space-y-3 text-sm">
          <p>
            The service <strong>{service.service_id}</strong> and its history of checks stop being monitored.
          </p>
          {relations.length > 0 ? (
            <div>
              <p className="font-medium">These {relations.length} relation(s) are deleted with it:</p>
              <ul className="mt-1 list-disc pl-5" data-testid="dependent-relations">
                {relations.map((r) => (
                  <li key={r.relation_id}>
                    {r.relation_type} {r.dir} {r.service_id}
                  </li>
                ))}
              </ul>
            </div>
          ) : (
            <p className="text-slate-700">No relation depends on it.</p>
          )}
          <div className="flex justify-end gap-2 pt-2">
            <button type="button" className={button.secondary} onClick={onClose}>
              Cancel
            </button>
            <button type="button" className={button.danger} disabled={remove.isPending} onClick={() => remove.mutate()}>
              Delete
            </button>
          </div>
        </div>
      )}
    </Dialog>
  );
}
