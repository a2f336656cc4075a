// DesignServiceImpl: users' side of design jobs — submit, get, list, watch
// and cancel. The jobs themselves run in the DesignManager.
#ifndef HAKD_SERVER_DESIGN_SERVICE_H_
#define HAKD_SERVER_DESIGN_SERVICE_H_

#include "hakd/v1/design.grpc.pb.h"
#include "server/auth.h"
#include "server/design_manager.h"
#include "server/design_store.h"

namespace hakd {

class DesignServiceImpl final : public hakd::v1::DesignService::Service {
 public:
  // Every pointer must outlive the service.
  DesignServiceImpl(const Authorizer* auth, DesignStore* store,
                    DesignManager* manager)
      : auth_(auth), store_(store), manager_(manager) {}

  // Needs kControl. INVALID_ARGUMENT / NOT_FOUND name the bad field.
  grpc::Status SubmitDesign(grpc::ServerContext* context,
                            const hakd::v1::SubmitDesignRequest* request,
                            hakd::v1::DesignJob* response) override;
  // Needs kRead.
  grpc::Status GetDesign(grpc::ServerContext* context,
                         const hakd::v1::GetDesignRequest* request,
                         hakd::v1::DesignJob* response) override;
  // Needs kRead. Newest first, without saliency or untrained candidates.
  grpc::Status ListDesigns(grpc::ServerContext* context,
                           const hakd::v1::ListDesignsRequest* request,
                           hakd::v1::ListDesignsResponse* response) override;
  // Needs kRead. The job now, again on every change (and at least every
  // 5 s), until it ends or the client or server goes away.
  grpc::Status WatchDesign(
      grpc::ServerContext* context, const hakd::v1::GetDesignRequest* request,
      grpc::ServerWriter<hakd::v1::DesignJob>* writer) override;
  // Needs kControl.
  grpc::Status CancelDesign(grpc::ServerContext* context,
                            const hakd::v1::GetDesignRequest* request,
                            hakd::v1::DesignJob* response) override;

 private:
  const Authorizer* const auth_;
  DesignStore* const store_;
  DesignManager* const manager_;
};

}  // namespace hakd

#endif  // HAKD_SERVER_DESIGN_SERVICE_H_
